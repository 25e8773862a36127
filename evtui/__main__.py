from evtui.entry import main

main()
