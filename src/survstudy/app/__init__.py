"""``survstudy app``: a local point-and-click web app that writes a study spec.

Belongs here: the web layer (routes, templates, sessions, upload handling) of a
server bound to 127.0.0.1 for one user. Every analysis made in the app is a
:class:`~survstudy.spec.StudySpec` run by the ordinary runner, and the spec is
offered for download so ``survstudy run`` reproduces it.

Imports: ``spec``, ``data``, ``pipeline``, ``report`` (and through them the rest);
nothing imports ``app`` except ``cli.app``. Starlette, python-multipart and
uvicorn (the ``app`` extra) are imported only here.

Public API: :func:`create_app`, :class:`AppConfig`.
"""

from __future__ import annotations

from survstudy.app.security import AppConfig
from survstudy.app.server import create_app

__all__ = ["AppConfig", "create_app"]
