"""The teams and directory pages of `/manager/`: teams (create, members in and out, delete
after a confirmation) and the directory's private entries (mark or unmark; collaborators'
directory, here and in CardDAV, then leaves a private entry out). All through the API, so a
collaborator sees exactly what the API shows them."""

from __future__ import annotations

from typing import Any

from twisted.web.server import Request

from swissbox.manager import webpages as pages
from swissbox.manager.endpoint import ApiError
from swissbox.manager.webflow import Answer, Route, Section, flash, segment, words
from swissbox.manager.webpages import e, field, form, layout, select, table, url

PRIVATE_MEANS = (
    "A private entry is left out of the directory collaborators see (this page and the"
    " organization's address book in their contacts app); administrators still see it."
)

# -- HTML (pure) ------------------------------------------------------------------------------


def teams_page(
    login: str,
    csrf: str,
    org: dict[str, Any],
    teams: list[dict[str, Any]],
    members: list[dict[str, Any]],
    notice: str = "",
    error: str = "",
) -> bytes:
    oid = org["id"]
    admin = "members:write" in org.get("permissions", [])
    body = f'<p><a href="{url("orgs", oid)}">Back to {e(org["name"])}</a></p>'
    body += "<h2>Teams</h2>"
    rows = []
    for n, t in enumerate(teams):
        if admin:
            people = "".join(
                f"<li>{e(who)} "
                + form(
                    url("orgs", oid, "teams", t["name"], "members", who, "remove"),
                    "",
                    csrf,
                    f"Take {who} out of {t['name']}",
                    danger=True,
                )  # fmt: skip
                + "</li>"
                for who in t["members"]
            )
        else:
            people = "".join(f"<li>{e(who)}</li>" for who in t["members"])
        cells = [e(t["name"]), f"<ul>{people}</ul>" if people else "nobody yet"]
        if admin:
            outside = [(m["login"], m["login"]) for m in members if m["login"] not in t["members"]]
            add = ""
            if outside:
                add = form(
                    url("orgs", oid, "teams", t["name"], "members"),
                    select(
                        "login", f"Member to add to {t['name']}", outside, ident=f"team-add-{n}"
                    ),
                    csrf,
                    f"Add to {t['name']}",
                )
            delete = f'<a href="{url("orgs", oid, "teams", t["name"], "delete")}">Delete {e(t["name"])}…</a>'
            cells += [add, delete]
        rows.append(cells)
    heads = ["Team", "Members"] + (["Add a member", "Delete"] if admin else [])
    body += table("Teams", heads, rows) if rows else "<p>No teams yet.</p>"
    if admin:
        inner = field("name", "Name of the new team", ident="f-team-name", required=True)
        body += form(url("orgs", oid, "teams"), inner, csrf, "Create team")
    body += "<h2>Directory</h2>"
    if admin:
        body += f"<p>{e(PRIVATE_MEANS)}</p>"
    drows = []
    for m in members:
        cells = [e(m["login"]), e(m.get("name", "")), e(pages.ROLE_NAMES.get(m["role"], m["role"]))]
        if admin:
            private = bool(m.get("private"))
            flip = "Make visible" if private else "Mark private"
            cells += [
                "private" if private else "visible",
                form(
                    url("orgs", oid, "directory", m["login"], "private"),
                    f'<input type="hidden" name="private" value="{"no" if private else "yes"}">',
                    csrf,
                    f"{flip}: {m['login']}",
                ),
            ]
        drows.append(cells)
    heads = ["Login", "Name", "Role"] + (["Entry", "Change"] if admin else [])
    body += table("Directory", heads, drows)
    return layout("Teams and directory", body, login, csrf, notice, error)


def team_delete_page(login: str, csrf: str, org: dict[str, Any], team: str) -> bytes:
    oid = org["id"]
    body = (
        f"<p>Delete the team <strong>{e(team)}</strong>? Its members stay in the organization;"
        " only the team (its group card in the directory) goes.</p>"
    )
    body += form(url("orgs", oid, "teams", team, "delete"), "", csrf, f"Delete team {team}", True)
    body += f'<p><a href="{url("orgs", oid, "teams")}">Cancel</a></p>'
    return layout(f"Delete team {team}", body, login, csrf)


# -- the pages ----------------------------------------------------------------------------------


class TeamPages(Section):
    def routes(self) -> list[Route]:
        return [
            ("GET", ["orgs", "#", "teams"], self.teams),
            ("POST", ["orgs", "#", "teams"], self.create),
            ("POST", ["orgs", "#", "teams", "*", "members"], self.member_in),
            ("POST", ["orgs", "#", "teams", "*", "members", "*", "remove"], self.member_out),
            ("GET", ["orgs", "#", "teams", "*", "delete"], self.delete_form),
            ("POST", ["orgs", "#", "teams", "*", "delete"], self.delete),
            ("POST", ["orgs", "#", "directory", "*", "private"], self.private),
        ]

    async def teams(
        self, request: Request, form: dict[str, str], oid: int, status: int = 200, error: str = ""
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        teams = await self.web.call(request, "GET", f"/orgs/{oid}/teams")
        members = await self.web.call(request, "GET", f"/orgs/{oid}/members")
        page = teams_page(login, token, org, teams, members, flash(request), error)
        return status, page, {}

    def _refused(self, request: Request, oid: int) -> Any:
        async def show(exc: ApiError) -> Answer:
            return await self.teams(request, {}, oid, exc.status, words(exc))

        return show

    async def _do(
        self, request: Request, oid: int, method: str, rest: str, body: Any, done: str
    ) -> Answer:
        back = url("orgs", oid, "teams")
        return await self.change(
            request, method, rest, body, back, done, self._refused(request, oid)
        )

    async def create(self, request: Request, form: dict[str, str], oid: int) -> Answer:
        name = form.get("name", "")
        done = f"The team {name} was created: add its members below."
        return await self._do(request, oid, "POST", f"/orgs/{oid}/teams", {"name": name}, done)

    async def member_in(
        self, request: Request, form: dict[str, str], oid: int, team: str
    ) -> Answer:
        who = form.get("login", "")
        rest = f"/orgs/{oid}/teams/{segment(team)}/members/{segment(who)}"
        return await self._do(request, oid, "PUT", rest, None, f"{who} is now in {team}.")

    async def member_out(
        self, request: Request, form: dict[str, str], oid: int, team: str, who: str
    ) -> Answer:
        rest = f"/orgs/{oid}/teams/{segment(team)}/members/{segment(who)}"
        return await self._do(request, oid, "DELETE", rest, None, f"{who} is no longer in {team}.")

    async def delete_form(
        self, request: Request, form: dict[str, str], oid: int, team: str
    ) -> Answer:
        login, token, org = await self.org(request, oid)
        if "members:write" not in org.get("permissions", []):
            raise ApiError(403, "forbidden", "your role may not delete teams")
        return 200, team_delete_page(login, token, org, team), {}

    async def delete(self, request: Request, form: dict[str, str], oid: int, team: str) -> Answer:
        rest = f"/orgs/{oid}/teams/{segment(team)}"
        done = f"The team {team} was deleted; its members stay in the organization."
        return await self._do(request, oid, "DELETE", rest, None, done)

    async def private(self, request: Request, form: dict[str, str], oid: int, who: str) -> Answer:
        private = form.get("private") == "yes"
        done = (
            f"{who}'s entry is private: collaborators no longer see it in the directory."
            if private
            else f"{who}'s entry is visible to collaborators again."
        )
        rest = f"/orgs/{oid}/members/{segment(who)}"
        return await self._do(request, oid, "PATCH", rest, {"private": private}, done)
