"""idpyoidc's ``Server``, with its HTTP client handed on."""

from idpyoidc.server import Server as IdpyServer


class Server(IdpyServer):
    def __init__(self, conf, keyjar=None, cwd="", httpc=None, **kwargs):
        """Defect 67: the stock constructor takes ``httpc`` but builds its ``EndpointContext`` without
        it, so every request idpyoidc sends by itself (``request_uri``, ``sector_identifier_uri``,
        back-channel logout) goes through ``requests.request``, bound by nothing. The context gets the
        client it was given."""
        super().__init__(conf, keyjar=keyjar, cwd=cwd, httpc=httpc, **kwargs)
        if httpc is not None:
            self.context.httpc = httpc
