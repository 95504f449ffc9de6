"""HTML pages for people: the RSVP page linked from every invitation.

Layer: ``web``, beside ``dav``: handlers parse the form, call one service
(``services.rsvp``) and render a Jinja2 template (autoescaped).  No SQL, no
mail, no iCalendar handling here.  The pages need no login: the reply token
in the address is the key, so they sit outside the DAV authentication.

Modules: ``app`` (the sub-application, its routes and response headers),
``pages`` (the handlers), ``forms`` (the signed nonce against forged
posts), ``limits`` (posts per client address), ``assets`` (the stylesheet
and script, with cache headers), ``strings`` (every word the pages show),
``keys`` (what the sub-application holds).
"""

from __future__ import annotations

from .app import rsvp_app

__all__ = ["rsvp_app"]
