"""eap-state as a service: a Ray Serve app with a JSON API and a live page (extra ``serve``).

``serve run shell.service:app store_name=NAME namespace=NS`` serves a running
named store; ``python -m shell.service --agents-file FILE --budget X`` starts
one and serves it. Every route needs a bearer token (``EAP_STATE_WRITE_TOKEN``
for changes, ``EAP_STATE_READ_TOKEN`` for reading); see ``docs/service.md``.
"""

from shell.service._api import create_api
from shell.service._deployment import StoreService, app
from shell.service._ingress import INGRESSES, ingress_environment, ingress_of
from shell.service._problems import UnknownAgentError
from shell.service._settings import ServiceSettings, service_settings
from shell.service._tokens import AccessTokens, load_tokens

__all__ = [
    "INGRESSES",
    "AccessTokens",
    "ServiceSettings",
    "StoreService",
    "UnknownAgentError",
    "app",
    "create_api",
    "ingress_environment",
    "ingress_of",
    "load_tokens",
    "service_settings",
]
