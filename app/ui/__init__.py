"""The Qt shell: main window, wizard assembly and workers. The only part of ``app``
that imports Qt."""
