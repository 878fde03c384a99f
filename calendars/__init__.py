"""Working-hours calendars: when a board's clocks run (``calendars.working``)."""
