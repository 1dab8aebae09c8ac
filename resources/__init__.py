"""Catalogs and styles shipped with the application (package data).

This folder is the single source of truth: device and balloon catalogs (``*.json``) and the
workstation's style and window presets (``ui/``). It is installed next to ``planner`` and
``ui`` so the same lookups (``<site-packages>/resources/...``) work from a source checkout,
an editable install, a wheel or pipx.
"""
