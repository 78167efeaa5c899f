"""idpyoidc's ``Server`` and ``EndpointContext``, built with this app's stores and client authentication.

The configuration (``server.build_conf``) names the classes; idpyoidc 5.0.0 reads no configuration for
them, so these two subclasses are where it is read (defects 85–88)."""

from idpyoidc.client.defaults import DEFAULT_KEY_DEFS
from idpyoidc.node import Unit
from idpyoidc.server import Server as IdpyServer
from idpyoidc.server import do_endpoints
from idpyoidc.server.client_authn import CLIENT_AUTHN_METHOD
from idpyoidc.server.configure import OPConfiguration
from idpyoidc.server.endpoint_context import EndpointContext as IdpyEndpointContext
from idpyoidc.server.util import allow_refresh_token
from idpyoidc.util import importer


def _instance(spec: dict, *args, **kwargs):
    return importer(spec["class"])(*args, **{**spec.get("kwargs", {}), **kwargs})


class EndpointContext(IdpyEndpointContext):
    """Reads the keys ``session_manager``, ``jti_db`` and ``registration_access_token`` of the
    configuration (``{"class": path, "kwargs": {...}}``) and honours ``client_authn_methods``."""

    def __init__(self, conf: OPConfiguration, upstream_get, **kwargs):
        super().__init__(conf, upstream_get, **kwargs)
        # Defect 87: the stock constructor sets both to process-local dicts, with no configuration;
        # another worker would accept a used assertion again and not know a registration access token.
        self.jti_db = _instance(conf.conf["jti_db"])
        self.registration_access_token = _instance(conf.conf["registration_access_token"])

    def do_userinfo(self):
        """Defect 86: the stock constructor builds ``idpyoidc.server.session.manager.SessionManager``
        by name (its session tree in a process-local dict), then calls this, the first step that uses
        it. The configured class is built here, from the same arguments, before anything holds the
        stock one."""
        self.session_manager = _instance(
            self.conf.conf["session_manager"],
            self.token_handler_args,
            sub_func=self._sub_func,
            conf=self.conf.conf,
            upstream_get=self.unit_get,
        )
        super().do_userinfo()

    def setup_client_authn_methods(self):
        """Defect 88: ``client_auth_setup`` updates the configured methods with its built-ins, so a
        configured class named as a built-in (``client_secret_basic``…) is replaced by the built-in
        (and the configuration itself is changed). Here the configured classes win."""
        methods = {**CLIENT_AUTHN_METHOD, **(self.conf.get("client_authn_methods") or {})}
        self.client_authn_methods = {
            name: (importer(cls) if isinstance(cls, str) else cls)(self.unit_get) for name, cls in methods.items()
        }


class Server(IdpyServer):
    def __init__(self, conf: dict, keyjar, cwd="", httpc=None):
        """Defect 85: the stock constructor builds ``idpyoidc.server.endpoint_context.EndpointContext``
        by name; no configuration chooses the class. This is that constructor (idpyoidc 5.0.0) for
        this app's configuration (an issuer, a key jar, no parent), building the ``EndpointContext``
        above. Defect 67: the stock one also builds the context without ``httpc``, so every request
        idpyoidc sends by itself (``request_uri``, ``sector_identifier_uri``, back-channel logout) goes
        through ``requests.request``, bound by nothing; this context gets the client it was given."""
        self.entity_id = self.issuer = conf["issuer"]
        self.persistence = None
        Unit.__init__(
            self,
            config=conf,
            keyjar=keyjar,
            httpc=httpc,
            key_conf={"key_defs": DEFAULT_KEY_DEFS},
            issuer_id=self.issuer,
        )
        self.conf = OPConfiguration(conf)
        self.endpoint = do_endpoints(self.conf, self.unit_get)
        self.context = EndpointContext(
            self.conf, self.unit_get, cwd=cwd, httpc=httpc, keyjar=self.keyjar, entity_id=self.entity_id
        )
        self.context.do_add_on(endpoints=self.endpoint)
        for endpoint in self.endpoint.values():
            endpoint.upstream_get = self.unit_get
        self.context.provider_info = self.context.claims.get_server_metadata(endpoints=self.endpoint.values())
        self.context.provider_info["issuer"] = self.issuer
        self.context.metadata = self.context.provider_info
        self.context.map_supported_to_preferred()
        token = self.endpoint.get("token")
        if token:
            token.allow_refresh = allow_refresh_token(self.context)
