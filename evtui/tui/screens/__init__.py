"""Screens pushed over the tabs: an event's detail, a trace, the help, a prompt, the
replay dialog. A new screen is a module here, pushed by an action in ``evtui.tui.app``."""
