"""The console's tabs and their parts: one pane per tab (``overview``, ``tailpane``,
``lagpane``, ``violations``, ``flowpane``), the tables they share, the header, footer and
status lines."""
