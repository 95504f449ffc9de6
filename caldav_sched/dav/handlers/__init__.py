"""One module per HTTP method family; each handler takes a ``DavContext``.

Handlers parse the request, call one service (or read through the store's
repositories), and render the result.  They never write SQL and never build
error responses: they raise, and ``dav.middleware`` renders.
"""
