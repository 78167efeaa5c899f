"""A Django session engine (``SESSION_ENGINE = "oidc_provider.session_store"``): Django's database
sessions, except that a row is keyed by a keyed hash of the browser's session key, never the key.

Django's ``db`` engine makes the cookie's value the row's primary key, so a read-only copy of the
database (a backup, a replica, an SQL injection elsewhere on the site) holds every live login: sent
as the ``sessionid`` cookie, a key from it signs its reader in, and ``prompt=none`` hands them codes.
Here the cookie keeps the key, the row holds ``crypto.session_key_digest`` of it, and a digest
presented as a cookie is hashed again and matches nothing. Rows written by the ``db`` engine match
no cookie: switching engines signs every user out once.

Every method of ``db.SessionStore`` that reads or writes ``session_key`` is overridden, sync and
async; the rest (``load``, ``save``, ``create``, ``cycle_key``, ``flush`` …) reach the rows only
through them, and ``clear_expired`` selects by expiry date alone.
"""

import logging

from django.contrib.sessions.backends import db
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from oidc_provider.crypto import session_key_digest


class SessionStore(db.SessionStore):
    def _forget(self, error):
        """What Django's ``_get_session_from_db`` does when the row is missing (or the lookup suspicious)."""
        if isinstance(error, SuspiciousOperation):
            logging.getLogger(f"django.security.{type(error).__name__}").warning(str(error))
        self._session_key = None

    def _get_session_from_db(self):
        try:
            return self.model.objects.get(
                session_key=session_key_digest(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            self._forget(e)

    async def _aget_session_from_db(self):
        try:
            return await self.model.objects.aget(
                session_key=session_key_digest(self.session_key), expire_date__gt=timezone.now()
            )
        except (self.model.DoesNotExist, SuspiciousOperation) as e:
            self._forget(e)

    def exists(self, session_key):
        return self.model.objects.filter(session_key=session_key_digest(session_key)).exists()

    async def aexists(self, session_key):
        return await self.model.objects.filter(session_key=session_key_digest(session_key)).aexists()

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.session_key = session_key_digest(obj.session_key)
        return obj

    async def acreate_model_instance(self, data):
        obj = await super().acreate_model_instance(data)
        obj.session_key = session_key_digest(obj.session_key)
        return obj

    def delete(self, session_key=None):
        key = self.session_key if session_key is None else session_key
        if key is not None:
            self.model.objects.filter(session_key=session_key_digest(key)).delete()

    async def adelete(self, session_key=None):
        key = self.session_key if session_key is None else session_key
        if key is not None:
            await self.model.objects.filter(session_key=session_key_digest(key)).adelete()
