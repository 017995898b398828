"""The operator dashboard (Textual). `app.tui.app.Dashboard` owns the state and the workers; the
widgets in `widgets/` render it. Importing this package loads nothing heavy: the launcher imports
Textual only when the dashboard actually opens."""
