"""idpyoidc's session manager (the keeper of its session tree: user, client and grant nodes), made to
do each piece of work once per request.

idpyoidc decrypts the same session id (a Fernet token) on every walk of the session tree, reads a
token's session id again each time it resolves the token, and walks a branch from its root, one node
at a time. A code redemption did that about 30 times. Here, within a unit of work, a session id is
decrypted once (one made here, never), a token's session id is read once, a grant is read in one
statement with the token presented (``want_token``), and a walk from a user or client node loads all
of its branch in one (``idpy.session_tree.SessionTreeStore``). Outside a unit of work (key rotation
tools, tests) nothing is remembered.

The server's configuration names this class and its store (``idpy.server.EndpointContext``, defect 86).
"""

from idpyoidc.server.exception import InvalidBranchID
from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.manager import SessionManager as IdpySessionManager
from idpyoidc.server.token import WrongTokenClass
from idpyoidc.util import importer

from oidc_provider.crypto import pairwise_sub
from oidc_provider.idpy import grant_tokens
from oidc_provider.idpy.fast.ids import new_id
from oidc_provider.metadata import sector_of
from oidc_provider.storage.session_tree_rows import GRANT_DEPTH, branch_keys
from oidc_provider.storage.unit_of_work import active


def _announce(unit, path):
    """A user or client node asked for brings the rest of its branch in the same statement; a grant
    comes alone: the token, userinfo and introspection endpoints never read its parents."""
    keys = branch_keys(path)
    for key in keys[:-1]:
        unit.branches.setdefault(key, keys)
    unit.branches.setdefault(keys[-1], keys[-1:] if len(keys) == GRANT_DEPTH else keys)


class BranchInfo(dict):
    """``branch_info``'s answer with the user and client nodes read only when asked for: callers want
    the grant and the ids (idpyoidc reads ``["user"]`` only to log a user out of every client)."""

    def __init__(self, manager, path, **info):
        super().__init__(**info)
        self._manager, self._path = manager, path

    def __missing__(self, key):
        depth = {"user": 1, "client": 2}.get(key)
        if depth is None:
            raise KeyError(key)
        value = self[key] = self._manager.get(self._path[:depth])
        return value

    def get(self, key, default=None):
        return self[key] if key in ("user", "client") or key in self else default


class SessionManager(IdpySessionManager):
    def __init__(self, token_handler_args, db: str, **kwargs):
        """``db``: the class path of the session tree's store (the stock one is a process-local dict)."""
        super().__init__(token_handler_args, **kwargs)
        self.db = importer(db)()
        self.upstream_get = kwargs.get("upstream_get")

    def client_sub(self, user_id: str, client_id: str) -> str:
        """The ``sub`` of ``user_id`` for ``client_id``: pairwise per sector for a pairwise client
        (OpenID Connect Core 1.0 §8.1, ``crypto.pairwise_sub``), else the public one, as before.
        A pairwise client whose sector cannot be told (a row edited by hand: redirect URIs on several
        hosts, no sector identifier URI) gets a sector of its own."""
        cinfo = self.upstream_get("context").cdb.get(client_id) or {} if self.upstream_get else {}
        if cinfo.get("subject_type") == "pairwise":
            sector = sector_of(cinfo.get("sector_identifier_uri", ""), cinfo.get("registered_redirect_uris", []))
            return pairwise_sub(sector or f"client:{client_id}", user_id)
        return self.sub_func["public"](user_id, salt=self.get_salt(), sector_identifier="")

    def create_grant(
        self,
        authn_event,
        auth_req,
        user_id="",
        client_id="",
        sub_type="public",
        token_usage_rules=None,
        scopes=None,
    ):
        """Defect 130: stock takes the sector from the authorization request's ``sector_identifier_uri``
        (a value the client sends as it likes, never checked) and the subject type from a ``sub_type``
        argument that the authorization endpoint never passes, so every sub was public; its
        ``pairwise_id`` is an unkeyed SHA-256 of the concatenated parts. Here the client's registered
        subject type and sector decide (``client_sub``); the rest is the stock method (idpyoidc
        5.0.0), without appending the audience to the request's own ``resource`` list."""
        claims = auth_req.get("claims", {}) if auth_req else {}
        if scopes is None and auth_req:
            scopes = auth_req.get("scope")
        resources = list(auth_req.get("resource", [])) if auth_req else []
        audience = auth_req.get("audience") if auth_req else None
        if audience:
            resources += [audience] if isinstance(audience, str) else list(audience)
        return self.add_grant(
            path=self.make_path(user_id=user_id, client_id=client_id),
            token_usage_rules=token_usage_rules,
            authorization_request=auth_req,
            authentication_event=authn_event,
            sub=self.client_sub(user_id, client_id),
            usage_rules=token_usage_rules,
            scope=scopes,
            claims=claims,
            remember_token=self.remember_token,
            remove_inactive_token=self.remove_inactive_token,
            resources=resources,
        )

    def add_grant(self, path, token_usage_rules=None, scope=None, **kwargs):
        """Stock (idpyoidc 5.0.0), but the grant is of ``idpy.grant_tokens``' class, as it is when read
        back, so the opaque code minted with it computes no payload (a speed rewrite, ``idpy.fast.payload``),
        and its id is random (``store_new_grant``)."""
        grant_args = {k: v for k, v in kwargs.items() if k in Grant.parameter}
        if "usage_rules" not in grant_args and token_usage_rules:
            grant_args["usage_rules"] = token_usage_rules
        grant = grant_tokens.Grant(
            remember_token=self.remember_token,
            remove_inactive_token=self.remove_inactive_token,
            scope=scope,
            **grant_args,
        )
        return self.store_new_grant(path, grant)

    def add_exchange_grant(self, exchange_request, original_branch_id, path, token_usage_rules=None, **grant_args):
        """Defect 131: stock gives a token exchanged for another client the original grant's ``sub``,
        the sub of the client that got the subject token: a pairwise sub leaks to another sector and
        the new client cannot match it with its own ID tokens. The new grant gets the new client's.
        Otherwise stock, made as ``add_grant`` makes a grant."""
        grant = grant_tokens.ExchangeGrant(
            original_branch_id=original_branch_id, exchange_request=exchange_request, usage_rules=token_usage_rules
        )
        for key, value in {**grant_args, "sub": self.client_sub(path[0], path[1])}.items():
            setattr(grant, key, value)
        return self.store_new_grant(path, grant)

    def store_new_grant(self, path, grant):
        """Store a new grant under ``path``; its session id. Defect 205: its id, the last part of its row's
        key, is 128 random bits (``idpy.fast.ids``), not the ``uuid1`` idpyoidc's constructors draw, which
        names the OP host's MAC address and the time."""
        self._setup_branch(path)
        grant.id = new_id()
        branch = [*path, grant.id]
        self.set(branch, grant)
        return self.encrypted_branch_id(*branch)

    def encrypted_branch_id(self, *args):
        """A session id made in this unit of work is known: it is never decrypted."""
        key = super().encrypted_branch_id(*args)
        unit = active()
        if unit is not None:
            unit.session_ids[key] = tuple(args)
            _announce(unit, args)
        return key

    def decrypt_branch_id(self, key):
        unit = active()
        if unit is None:
            return super().decrypt_branch_id(key)
        path = unit.session_ids.get(key)
        if path is None:
            path = unit.session_ids[key] = tuple(super().decrypt_branch_id(key))
            _announce(unit, path)
        return list(path)

    def _setup_branch(self, path):
        """The stock method reads each node above a new grant to create the missing ones. Within a
        unit of work nothing is read here: a node of the path asked for later and not found is made
        then, and the grant's row goes in only under an existing parent, else one is made
        (``idpy.session_tree``)."""
        unit = active()
        if unit is None:
            return super()._setup_branch(path)
        _announce(unit, path)
        unit.implied.update(branch_keys(path))

    def set(self, path, value):
        """The stock ``set`` reads each ancestor and appends the new key to its ``subordinate``; here
        ``subordinate`` is derived from rows (``idpy.session_tree.Children``). Within a unit of work a
        grant's ancestors are not looked for: a grant loaded here came with them, and a grant made
        here (its id fresh and random, ``store_new_grant``, so its own row is not looked for either) goes
        in under them as ``_setup_branch`` says. Otherwise only missing ancestors are created."""
        key = self.branch_key(*path)
        unit = active()
        if unit is not None and isinstance(value, Grant):
            if key not in unit.nodes:
                unit.missing.add(key)
                unit.implied.update(branch_keys(path[:-1]))
        else:
            for i in range(len(path) - 1):
                ancestor = self.branch_key(*path[: i + 1])
                if ancestor not in self.db:
                    self.db[ancestor] = self.node_info_class[self.node_type[i]](id=path[i])
        self.db[key] = value

    def want_token(self, session_id, value, token_class):
        """Within a unit of work: the token ``value`` (of ``token_class``) of the grant ``session_id``
        names is read with the grant, in the same round trip (``idpy.session_tree``); call it before
        looking the grant up."""
        unit = active()
        if unit is not None:
            path = self.decrypt_branch_id(session_id)
            if len(path) == GRANT_DEPTH:
                self.db.want(self.branch_key(*path), value, token_class)

    def branch_info(self, branch_id, *args):
        """As the stock method, without reading a grant's user and client nodes until they are used
        (a grant made in this unit needs no statement at all). A grant's row never outlives its
        parents' (``idpy.session_tree.flush``, ``cleanup``), so finding it is enough."""
        unit = active()
        path = self.decrypt_branch_id(branch_id)
        if unit is None or args or len(path) != len(self.node_type):
            return super().branch_info(branch_id, *args)
        try:
            grant = self.get(path)
        except KeyError:
            raise InvalidBranchID(branch_id) from None
        user_id, client_id, grant_id = path
        return BranchInfo(
            self, path, branch_id=branch_id, grant=grant, user_id=user_id, client_id=client_id, grant_id=grant_id
        )

    def token_info(self, token_value, handler_key=""):
        """The token handler's ``info`` on ``token_value`` (``handler_key``: that class's handler, ""
        every handler in the stock order), its ``sid`` made compatible as the stock
        ``get_session_info_by_token`` makes it. Within a unit of work a value is decrypted once, then
        known under its class too: the userinfo endpoint resolves its token three times, a refresh
        twice. A value that does not decrypt raises as the handler does, every time."""
        unit = active()
        known = unit.token_infos if unit is not None else {}
        info = known.get((token_value, handler_key))
        if info is None:
            handler = self.token_handler.handler[handler_key] if handler_key else self.token_handler
            info = handler.info(token_value)
            if info.get("sid"):
                info["sid"] = self._compatible_sid(info["sid"])
            known[(token_value, handler_key)] = known[(token_value, info.get("token_class", handler_key))] = info
        return info

    def get_session_info_by_token(
        self,
        token_value,
        user_session_info=False,
        client_session_info=False,
        grant=False,
        authentication_event=False,
        authorization_request=False,
        handler_key="",
    ):
        """As the stock method (the flags other than the last two change nothing there either), with
        the token read once per unit of work (``token_info``)."""
        info = self.token_info(token_value, handler_key)
        sid = info.get("sid")
        if not sid:  # an ID token
            raise WrongTokenClass
        self.want_token(sid, token_value, info.get("token_class", handler_key))
        return self.get_session_info(
            sid, authentication_event=authentication_event, authorization_request=authorization_request
        )
