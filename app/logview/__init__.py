"""The log view's logic without any UI: the display-side line model, the bounded buffer, level detection,
filters, search, time windows, layout of visual rows and the saved-file format.

The Textual widget in `widgets/log_view.py` renders this state; the engine's `Fleet.logs()` lines are adapted
into `model.LogLine`, `model.Gap` and `model.Switch` by the App.
"""
