"""The notebook user interface: the panel, task cards and the jobs that watch tasks on the
kernel's event loop. Built on :mod:`omni_widgets.core`."""
