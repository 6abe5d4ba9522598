"""Window assembly: the set-up wizard, the dashboard, the main window that swaps them,
and the launch. The top Qt layer: built on the pages and the kit."""
