"""The admin login with failed attempts limited (API.md §2), like the token endpoint: past its
limit a username gets 429 whatever password it brings, until the window ends; past the address's
limit failed logins from there get 429 too, while a right password still logs in."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from getitdone import attempts


def limit_failed_logins(login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def view(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if request.method != "POST":
            return login(request, *args, **kwargs)
        username, address = request.POST.get("username", ""), attempts.client_address(request)
        per_user, per_address = attempts.login_failures_per_user(), attempts.login_failures_per_address()
        if username and (wait := per_user.retry_after(username)):
            return _too_many(wait)
        response = login(request, *args, **kwargs)
        if response.status_code in (301, 302):  # logged in: Django redirects on success only
            return response
        if username:
            per_user.record(username)
        wait = per_address.retry_after(address)  # before this failure counts: the limit's worth pass
        per_address.record(address)
        return _too_many(wait) if wait else response

    return view


def _too_many(wait: int) -> HttpResponse:
    response = HttpResponse(
        f"Too many failed login attempts. Try again in {wait} seconds.", status=429, content_type="text/plain"
    )
    response["Retry-After"] = str(wait)
    return response
