"""idpyoidc's session manager, made to do each piece of work once per request.

idpyoidc decrypts the same session id (a Fernet token) on every walk of the session tree, reads a
token's session id again each time it resolves the token, and walks a branch from its root, one node
at a time. A code redemption did that about 30 times. Here, within a unit of work, a session id is
decrypted once, a token's session id is read once, and the first walk of a branch loads all of its
nodes in one statement (``storage.sessions.RowSessionStore``). Outside a unit of work (key rotation
tools, tests) nothing is remembered.

``EndpointContext`` builds the stock class itself; ``server._build`` re-classes that instance.
"""

from idpyoidc.server.session.grant import Grant
from idpyoidc.server.session.manager import SessionManager as IdpySessionManager
from idpyoidc.server.token import WrongTokenClass

from oidc_provider.storage.sessions import branch_keys
from oidc_provider.storage.unit_of_work import _current


def _announce(unit, path):
    """Whichever node of this branch is asked for first brings the others in the same statement."""
    keys = branch_keys(path)
    for key in keys:
        unit.branches.setdefault(key, keys)


class SessionManager(IdpySessionManager):
    def decrypt_branch_id(self, key):
        unit = _current.get()
        if unit is None:
            return super().decrypt_branch_id(key)
        path = unit.session_ids.get(key)
        if path is None:
            path = unit.session_ids[key] = tuple(super().decrypt_branch_id(key))
            _announce(unit, path)
        return list(path)

    def _setup_branch(self, path):
        unit = _current.get()
        if unit is not None:
            _announce(unit, path)
        super()._setup_branch(path)

    def set(self, path, value):
        """The stock ``set`` reads each ancestor and appends the new key to its ``subordinate``; here
        ``subordinate`` is derived from rows (``storage.sessions.Children``), so only missing
        ancestors are created and the node stored. A grant that was not loaded in this unit was just
        made (``add_grant``; its id is a fresh UUID): no need to look for its row."""
        for i in range(len(path) - 1):
            key = self.branch_key(*path[: i + 1])
            if key not in self.db:
                self.db[key] = self.node_info_class[self.node_type[i]](id=path[i])
        key = self.branch_key(*path)
        unit = _current.get()
        if unit is not None and isinstance(value, Grant) and key not in unit.nodes:
            unit.missing.add(key)
        self.db[key] = value

    def get_session_info_by_token(self, token_value, user_session_info=False, client_session_info=False, grant=False,
                                  authentication_event=False, authorization_request=False, handler_key=""):
        """As the stock method (the flags other than the last two change nothing there either), with
        the token's session id remembered for the unit of work."""
        unit = _current.get()
        known = unit.token_sids if unit is not None else {}
        sid = known.get((token_value, handler_key))
        if sid is None:
            handler = self.token_handler.handler[handler_key] if handler_key else self.token_handler
            sid = handler.info(token_value).get("sid")
            if not sid:  # an ID token
                raise WrongTokenClass
            sid = known[(token_value, handler_key)] = self._compatible_sid(sid)
        return self.get_session_info(sid, authentication_event=authentication_event,
                                     authorization_request=authorization_request)
