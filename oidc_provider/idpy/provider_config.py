"""Discovery that says only what this OP configured."""

from idpyoidc.message import oidc
from idpyoidc.server.oidc.provider_config import ProviderConfiguration as IdpyProviderConfiguration


class ProviderConfigurationResponse(oidc.ProviderConfigurationResponse):
    """Defect 33: the stock response fills in defaults (``version: 3.0``,
    ``request_uri_parameter_supported: true``…) after the OP's own values were set."""

    c_default = {}


class ProviderConfiguration(IdpyProviderConfiguration):
    response_cls = ProviderConfigurationResponse
