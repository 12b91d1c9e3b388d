"""The DOT server's routes: DOT's own under `o/` (token, revoke_token, introspect, ...) as in the tutorial,
and `health/`, a plain 200 for the resource server's readiness probe (DOT has no such endpoint)."""

from django.http import JsonResponse
from django.urls import include, path


def health(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("health/", health),
]
