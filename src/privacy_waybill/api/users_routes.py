"""Staff accounts over HTTP for platform administrators, as `pwb users` does on the command
line: list them, create one (its TOTP secret shown once, as a QR for the authenticator app),
bind a courier's device, lock or reactivate. Every call asks the policy for `user.manage` and
is audited by user id; usernames and passwords never reach the audit log."""

from __future__ import annotations

from datetime import datetime

import segno
from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from privacy_waybill.access.model import Resource, Role, Subject
from privacy_waybill.api.deps import caller
from privacy_waybill.errors import FieldError
from privacy_waybill.identity.model import User, UserStatus
from privacy_waybill.runtime import Runtime

PLATFORM = Resource(kind="platform")


class UserOut(BaseModel):
    id: str
    username: str
    role: str
    status: str
    tenant_id: str | None
    hub: str | None
    station: str | None
    device_bound: bool = Field(description="A courier's account is bound to one device")
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id, username=user.username, role=user.role.value, status=user.status.value,
            tenant_id=user.tenant_id, hub=user.hub, station=user.station, device_bound=user.device_id is not None,
            created_at=user.created_at,
        )  # fmt: skip


class UserIn(BaseModel):
    username: str = Field(max_length=64, examples=["li.courier"])
    password: str = Field(max_length=256, description="At least 12 characters")
    role: Role
    tenant_id: str | None = Field(default=None, max_length=64, description="A merchant's tenant (merchant role)")
    hub: str | None = Field(default=None, max_length=64, description="The sorting hub (sorting_operator role)")
    station: str | None = Field(default=None, max_length=64, description="The station (station_clerk, courier)")


class NewUserOut(BaseModel):
    user: UserOut
    totp_uri: str | None = Field(description="For the user's authenticator app; shown this once")
    totp_qr_svg: str | None = Field(description="The same URI as an SVG QR code")


class DeviceIn(BaseModel):
    device_id: str = Field(max_length=128, description="The id the courier's page shows on the handset")


class StatusIn(BaseModel):
    status: UserStatus


def users_router(rt: Runtime) -> APIRouter:
    router = APIRouter(tags=["users"])
    who = Depends(caller(rt))

    def manage(subject: Subject, detail: dict[str, str]) -> None:
        rt.access.permit(subject, "user.manage", PLATFORM, rt.access.context(), detail=detail)

    def manage_user(subject: Subject, username: str, act: dict[str, str]) -> User:
        """The account named, once the caller may manage accounts (who may not learns nothing
        of which usernames exist); the audit entry names it by id."""
        rt.access.require(subject, "user.manage", PLATFORM, rt.access.context())
        user = rt.identity.user(username)
        manage(subject, {**act, "user": user.id})
        return user

    @router.get("/users", response_model=list[UserOut])
    def list_users(subject: Subject = who) -> list[UserOut]:
        """Platform admin: every staff account, by role and username."""
        manage(subject, {"act": "list"})
        return [UserOut.of(user) for user in rt.identity.store.all_users()]

    @router.post("/users", response_model=NewUserOut, status_code=status.HTTP_201_CREATED)
    def add_user(body: UserIn, subject: Subject = who) -> NewUserOut:
        """Platform admin: a new account; staff roles get a TOTP secret, returned this once."""
        manage(subject, {"act": "create", "role": body.role.value})
        if body.tenant_id is not None and not rt.tenants.exists(body.tenant_id):
            raise FieldError("tenant_id", "names no merchant")
        created = rt.identity.add_user(
            body.username, body.password, body.role, rt.clock(),
            tenant_id=body.tenant_id, hub=body.hub, station=body.station,
        )  # fmt: skip
        uri = created.totp_uri
        return NewUserOut(
            user=UserOut.of(created.user),
            totp_uri=uri,
            totp_qr_svg=segno.make(uri, error="M").svg_inline(scale=4) if uri else None,
        )

    @router.put("/users/{username}/device", response_model=UserOut)
    def bind_device(username: str, body: DeviceIn, subject: Subject = who) -> UserOut:
        """Platform admin: bind a courier's account to one handset; its open sessions end."""
        manage_user(subject, username, {"act": "bind-device"})
        rt.identity.bind_device(username, body.device_id, rt.clock())
        return UserOut.of(rt.identity.user(username))

    @router.put("/users/{username}/status", response_model=UserOut)
    def set_status(username: str, body: StatusIn, subject: Subject = who) -> UserOut:
        """Platform admin: lock, disable or reactivate an account; leaving `active` ends its sessions."""
        manage_user(subject, username, {"act": "status", "status": body.status.value})
        rt.identity.set_status(username, body.status, rt.clock())
        return UserOut.of(rt.identity.user(username))

    return router
