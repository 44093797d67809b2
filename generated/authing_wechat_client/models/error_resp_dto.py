from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ErrorRespDto")


@_attrs_define
class ErrorRespDto:
    """The envelope of a failed request.

    Attributes:
        status_code (int): Business status code.
        message (str): Description of the error.
        api_code (int | Unset): Detailed error code.
        request_id (str | Unset): Request id.
    """

    status_code: int
    message: str
    api_code: int | Unset = UNSET
    request_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status_code = self.status_code

        message = self.message

        api_code = self.api_code

        request_id = self.request_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "statusCode": status_code,
                "message": message,
            }
        )
        if api_code is not UNSET:
            field_dict["apiCode"] = api_code
        if request_id is not UNSET:
            field_dict["requestId"] = request_id

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status_code = d.pop("statusCode")

        message = d.pop("message")

        api_code = d.pop("apiCode", UNSET)

        request_id = d.pop("requestId", UNSET)

        error_resp_dto = cls(
            status_code=status_code,
            message=message,
            api_code=api_code,
            request_id=request_id,
        )

        error_resp_dto.additional_properties = d
        return error_resp_dto

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
