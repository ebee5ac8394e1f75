"""AWS credentials from the standard chain, resolved once at start and refreshed off the event loop."""

from __future__ import annotations

import threading

import botocore.session
from botocore.credentials import Credentials, ReadOnlyCredentials, RefreshableCredentials

from tollway.inference_router.domain.errors import CatalogError


class AwsCredentialSource:
    """Signing credentials for one provider.

    botocore refreshes expiring credentials (SSO, assumed roles, container and instance roles) with a blocking
    HTTP call inside ``get_frozen_credentials``; here that call runs on a background thread while requests keep
    signing with the current set, so the hot path never waits on it.
    """

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._frozen: ReadOnlyCredentials = credentials.get_frozen_credentials()
        self._refreshing = threading.Lock()

    @classmethod
    def from_chain(cls, provider_id: str, profile: str | None = None) -> AwsCredentialSource:
        """The chain botocore uses: env vars, shared config/credentials files, SSO, container, instance role."""
        found = botocore.session.Session(profile=profile).get_credentials()
        if found is None:
            raise CatalogError(
                f"provider '{provider_id}': no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "AWS_PROFILE, or run with a role)"
            )
        return cls(found)

    def current(self) -> ReadOnlyCredentials:
        expiring = isinstance(self._credentials, RefreshableCredentials) and self._credentials.refresh_needed()
        if expiring and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh, name="aws-credentials-refresh", daemon=True).start()
        return self._frozen

    def _refresh(self) -> None:
        try:
            self._frozen = self._credentials.get_frozen_credentials()
        finally:
            self._refreshing.release()
