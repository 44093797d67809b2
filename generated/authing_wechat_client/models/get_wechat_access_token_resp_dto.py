from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.empty_object import EmptyObject
    from ..models.get_wechat_access_token_data_dto import GetWechatAccessTokenDataDto


T = TypeVar("T", bound="GetWechatAccessTokenRespDto")


@_attrs_define
class GetWechatAccessTokenRespDto:
    """The response envelope. On success `statusCode` is 200 and `data` holds the token; on a
    business failure `statusCode` is a 4xx/5xx code and `data` may be absent, null, `{}` or
    still a full token object (the seeds show `data` on every answer): only `statusCode`
    200 means success, whatever `data` holds.

        Attributes:
            status_code (int): Business status code; 200 means success.
            message (str): Description of the outcome.
            api_code (int | Unset): Detailed error code; absent on success.
            request_id (str | Unset): Request id; returned when the request fails.
            data (EmptyObject | GetWechatAccessTokenDataDto | None | Unset): The token when `statusCode` is 200; otherwise
                absent, null, `{}` or a token that is not to be used.
    """

    status_code: int
    message: str
    api_code: int | Unset = UNSET
    request_id: str | Unset = UNSET
    data: EmptyObject | GetWechatAccessTokenDataDto | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.empty_object import EmptyObject
        from ..models.get_wechat_access_token_data_dto import (
            GetWechatAccessTokenDataDto,
        )

        status_code = self.status_code

        message = self.message

        api_code = self.api_code

        request_id = self.request_id

        data: dict[str, Any] | None | Unset
        if isinstance(self.data, Unset):
            data = UNSET
        elif isinstance(self.data, GetWechatAccessTokenDataDto) or isinstance(
            self.data, EmptyObject
        ):
            data = self.data.to_dict()
        else:
            data = self.data

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
        if data is not UNSET:
            field_dict["data"] = data

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.empty_object import EmptyObject
        from ..models.get_wechat_access_token_data_dto import (
            GetWechatAccessTokenDataDto,
        )

        d = dict(src_dict)
        status_code = d.pop("statusCode")

        message = d.pop("message")

        api_code = d.pop("apiCode", UNSET)

        request_id = d.pop("requestId", UNSET)

        def _parse_data(
            data: object,
        ) -> EmptyObject | GetWechatAccessTokenDataDto | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                data_type_0 = GetWechatAccessTokenDataDto.from_dict(data)

                return data_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_no_data_type_1 = EmptyObject.from_dict(data)

                return componentsschemas_no_data_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EmptyObject | GetWechatAccessTokenDataDto | None | Unset, data)

        data = _parse_data(d.pop("data", UNSET))

        get_wechat_access_token_resp_dto = cls(
            status_code=status_code,
            message=message,
            api_code=api_code,
            request_id=request_id,
            data=data,
        )

        get_wechat_access_token_resp_dto.additional_properties = d
        return get_wechat_access_token_resp_dto

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
