"""One request's view of the database: identity maps (of idpyoidc's session-tree nodes, of clients),
and what is to be written when the request's work is done.

idpyoidc mutates the objects it loads without writing them back, so every node loaded during a
request is kept here, and the store that loaded it (``idpy.session_tree``) asks the unit to call its
``flush`` at the end, which writes the ones whose dump changed (in the unit's transaction; see
``unit_of_work`` for when there is one).
"""

import contextvars
from contextlib import ExitStack, contextmanager
from typing import NamedTuple

from django.db import transaction

_current = contextvars.ContextVar("oidc_unit_of_work", default=None)


class TransactionPolicy(NamedTuple):
    """How a request's unit of work holds the database: one of the policies below, handed to
    ``unit_of_work``. Storage says what each guarantees; each endpoint names the one it needs."""

    lock: bool = False
    read_only: bool = False
    lazy: bool = False


WRITES = TransactionPolicy()
"""One transaction around the whole of the request's work, changed nodes written at its end: whatever
the request writes, in the session tree or not, commits or rolls back together."""

READ_ONLY = TransactionPolicy(read_only=True)
"""No transaction and nothing written: for requests that read a few rows by key and never change the
session tree (userinfo, introspection)."""

GRANTS = TransactionPolicy(lazy=True)
"""For the authorization endpoint: no locks, and a transaction only when the end writes more than one
statement (a request that writes one grant needs none). Its other writes run in autocommit: each of
them stands alone."""

SPENDS = TransactionPolicy(lock=True, lazy=True)
"""For requests that spend single-use things (codes, refresh tokens, revocation): grant rows are locked
as they are read, so no two requests spend one thing. The transaction opens as for ``GRANTS``, or with
the first locked read: work before it (fetching a client's ``jwks_uri``) is never done inside one."""


class UnitOfWork:
    def __init__(self, lock=False, op_session=""):
        self.lock = lock  # lock grant rows on load (requests that spend a single-use thing)
        self.op_session = op_session  # the OPSession key that grants created here belong to
        self.nodes = {}  # key -> [obj, dump-at-load or None if created here]
        self.deleted = set()
        self.missing = set()  # keys looked up and not found
        self.implied = set()  # parents of a grant made here: not read unless asked for, made if absent
        self.branches = {}  # node key -> the keys of the branch to load with it (idpy.session_manager)
        self.wanted = {}  # grant key -> {digest: token class} of tokens to read with it (idpy.session_tree)
        self.token_sources = {}  # grant key -> what was read of its tokens (idpy.grant_tokens.TokenSource)
        self.session_ids = {}  # encrypted session id -> its path, decrypted once
        self.token_infos = {}  # (token value, token class or "") -> the token handler's info, decrypted once
        self.clients = {}  # client_id -> idpyoidc client dict (or None when unknown)
        self.client_rows = {}  # client_id -> Client row (or None when unknown)
        self.users_with_grants = False  # read a grant's user with it (claims.want_users_with_grants)
        self.users = {}  # user id as idpyoidc holds it -> the user row read with its grant (or None)
        self.encryption_keys = {}  # (client_id, id_token|userinfo) -> its key, found before the transaction
        self._transaction = None  # where the unit's transaction is opened (None: read-only unit)
        self.in_transaction = False
        self._writers = []  # called with the unit when its work is done (``at_end``)

    def begin(self):
        """Open the unit's transaction, if it is not open yet (a lazy policy)."""
        if self._transaction is not None and not self.in_transaction:
            self._transaction.enter_context(transaction.atomic())
            self.in_transaction = True

    def at_end(self, write):
        """Have ``write(unit)`` called when the unit's work is done (once, however often asked)."""
        if write not in self._writers:
            self._writers.append(write)

    def finish(self):
        for write in self._writers:
            write(self)


def active():
    """The unit of work this code runs in, or None."""
    return _current.get()


def current():
    unit = _current.get()
    if unit is None:
        raise RuntimeError("session-tree access outside oidc_provider.storage.unit_of_work()")
    return unit


@contextmanager
def unit_of_work(policy: TransactionPolicy = WRITES, op_session=""):
    """Run idpyoidc work against the database as ``policy`` says (by default one transaction, changed
    nodes written at the end). Grants created in it are recorded as made in the OP session
    ``op_session`` (the logout key).

    ``read_only`` (userinfo, introspection): no transaction and nothing written at the end. Such a
    request reads a few rows by key; on SQLite an IMMEDIATE transaction would queue it behind every
    writer for nothing.

    ``lazy`` (the token and authorization endpoints): the transaction opens with the first locked
    read (``lock``) or when the end needs more than one statement (``idpy.session_tree.flush``); a
    request that reads without locks and writes one row (client credentials, most authorization
    requests) needs none, and spares the BEGIN and COMMIT round trips. Writes of their own outside
    the session tree run in autocommit then: only use it where each of them stands alone."""
    outer = _current.get()
    if outer is not None:  # nested use joins the outer unit
        outer.op_session = op_session or outer.op_session
        yield outer
        return
    unit = UnitOfWork(lock=policy.lock, op_session=op_session)
    token = _current.set(unit)
    try:
        if policy.read_only:
            yield unit
        else:
            with ExitStack() as scope:
                unit._transaction = scope
                if not policy.lazy:
                    unit.begin()
                yield unit
                unit.finish()
    finally:
        _current.reset(token)
