from evtui.cli import main

main()
