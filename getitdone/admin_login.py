"""The admin login with failed attempts limited per username and per address (API.md §2),
as the token endpoint is (getitdone.attempts.guarded says how)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from getitdone import attempts


def limit_failed_logins(login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method != "POST":
            return login(request, *args, **kwargs)
        return attempts.guarded(
            lambda: login(request, *args, **kwargs),
            limits=[
                (attempts.login_failures_per_user(), request.POST.get("username", "")),
                (attempts.login_failures_per_address(), attempts.client_address(request)),
            ],
            failed=lambda response: response.status_code == 200,  # the form again; success redirects
            too_many=_too_many,
        )

    return view


def _too_many(wait: int) -> HttpResponse:
    response = HttpResponse(
        f"Too many failed login attempts. Try again in {wait} seconds.", status=429, content_type="text/plain"
    )
    response["Retry-After"] = str(wait)
    return response
