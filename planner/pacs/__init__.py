"""PACS query/retrieve and send (pynetdicom): see :mod:`planner.pacs.client`."""
