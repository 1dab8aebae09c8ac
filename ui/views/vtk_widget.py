"""The one place that creates VTK render widgets, so tests can swap the implementation.

Every view asks :func:`create_vtk_widget` for its widget. The default is VTK's
``QVTKRenderWindowInteractor`` (Qt window + GLX under X, including Xvfb). A test or a headless
tool can install another factory with :func:`set_vtk_widget_factory`; the replacement must be a
QWidget offering ``GetRenderWindow()``, ``Initialize()`` and ``Finalize()``.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QWidget

VtkWidgetFactory = Callable[[QWidget | None], QWidget]


def default_vtk_widget(parent: QWidget | None) -> QWidget:
    # Imported here: it pulls in the OpenGL render window classes.
    import vtkmodules.vtkInteractionStyle  # noqa: F401
    import vtkmodules.vtkRenderingFreeType  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
    from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor

    return QVTKRenderWindowInteractor(parent)


_factory: VtkWidgetFactory = default_vtk_widget
created_render_windows: list = []  # every render window handed out; checked by leak tests


def set_vtk_widget_factory(factory: VtkWidgetFactory) -> VtkWidgetFactory:
    """Install ``factory``; return the previous one so the caller can restore it."""
    global _factory
    previous, _factory = _factory, factory
    return previous


def create_vtk_widget(parent: QWidget | None = None) -> QWidget:
    widget = _factory(parent)
    created_render_windows.append(widget.GetRenderWindow())
    return widget
