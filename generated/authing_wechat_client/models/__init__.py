"""Contains all the data models used in inputs/outputs"""

from .empty_object import EmptyObject
from .error_resp_dto import ErrorRespDto
from .get_wechat_access_token_data_dto import GetWechatAccessTokenDataDto
from .get_wechat_access_token_dto import GetWechatAccessTokenDto
from .get_wechat_access_token_resp_dto import GetWechatAccessTokenRespDto
from .lang import Lang

__all__ = (
    "EmptyObject",
    "ErrorRespDto",
    "GetWechatAccessTokenDataDto",
    "GetWechatAccessTokenDto",
    "GetWechatAccessTokenRespDto",
    "Lang",
)
