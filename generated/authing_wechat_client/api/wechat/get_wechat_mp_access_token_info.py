from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_resp_dto import ErrorRespDto
from ...models.get_wechat_access_token_dto import GetWechatAccessTokenDto
from ...models.get_wechat_access_token_resp_dto import GetWechatAccessTokenRespDto
from ...models.lang import Lang
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: GetWechatAccessTokenDto,
    x_authing_app_id: str | Unset = UNSET,
    x_genauth_app_id: str | Unset = UNSET,
    x_authing_lang: Lang | Unset = UNSET,
    x_genauth_lang: Lang | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_authing_app_id, Unset):
        headers["x-authing-app-id"] = x_authing_app_id

    if not isinstance(x_genauth_app_id, Unset):
        headers["x-genauth-app-id"] = x_genauth_app_id

    if not isinstance(x_authing_lang, Unset):
        headers["x-authing-lang"] = str(x_authing_lang)

    if not isinstance(x_genauth_lang, Unset):
        headers["x-genauth-lang"] = str(x_genauth_lang)

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/v3/get-wechat-access-token-info",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorRespDto | GetWechatAccessTokenRespDto | None:
    if response.status_code == 200:
        response_200 = GetWechatAccessTokenRespDto.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorRespDto.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorRespDto.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorRespDto.from_dict(response.json())

        return response_403

    if response.status_code == 429:
        response_429 = ErrorRespDto.from_dict(response.json())

        return response_429

    if 400 <= response.status_code <= 499:
        response_4xx = ErrorRespDto.from_dict(response.json())

        return response_4xx

    if 500 <= response.status_code <= 599:
        response_5xx = ErrorRespDto.from_dict(response.json())

        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorRespDto | GetWechatAccessTokenRespDto]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GetWechatAccessTokenDto,
    x_authing_app_id: str | Unset = UNSET,
    x_genauth_app_id: str | Unset = UNSET,
    x_authing_lang: Lang | Unset = UNSET,
    x_genauth_lang: Lang | Unset = UNSET,
) -> Response[ErrorRespDto | GetWechatAccessTokenRespDto]:
    """Get the cached WeChat access token

     Returns the WeChat Mini Program / Official Account access token that the server caches.
    Successor of the deprecated `POST /api/v3/get-wechat-access-token`.

    Args:
        x_authing_app_id (str | Unset):
        x_genauth_app_id (str | Unset):
        x_authing_lang (Lang | Unset): Language of the response's `message`.
        x_genauth_lang (Lang | Unset): Language of the response's `message`.
        body (GetWechatAccessTokenDto):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorRespDto | GetWechatAccessTokenRespDto]
    """

    kwargs = _get_kwargs(
        body=body,
        x_authing_app_id=x_authing_app_id,
        x_genauth_app_id=x_genauth_app_id,
        x_authing_lang=x_authing_lang,
        x_genauth_lang=x_genauth_lang,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: GetWechatAccessTokenDto,
    x_authing_app_id: str | Unset = UNSET,
    x_genauth_app_id: str | Unset = UNSET,
    x_authing_lang: Lang | Unset = UNSET,
    x_genauth_lang: Lang | Unset = UNSET,
) -> ErrorRespDto | GetWechatAccessTokenRespDto | None:
    """Get the cached WeChat access token

     Returns the WeChat Mini Program / Official Account access token that the server caches.
    Successor of the deprecated `POST /api/v3/get-wechat-access-token`.

    Args:
        x_authing_app_id (str | Unset):
        x_genauth_app_id (str | Unset):
        x_authing_lang (Lang | Unset): Language of the response's `message`.
        x_genauth_lang (Lang | Unset): Language of the response's `message`.
        body (GetWechatAccessTokenDto):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorRespDto | GetWechatAccessTokenRespDto
    """

    return sync_detailed(
        client=client,
        body=body,
        x_authing_app_id=x_authing_app_id,
        x_genauth_app_id=x_genauth_app_id,
        x_authing_lang=x_authing_lang,
        x_genauth_lang=x_genauth_lang,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: GetWechatAccessTokenDto,
    x_authing_app_id: str | Unset = UNSET,
    x_genauth_app_id: str | Unset = UNSET,
    x_authing_lang: Lang | Unset = UNSET,
    x_genauth_lang: Lang | Unset = UNSET,
) -> Response[ErrorRespDto | GetWechatAccessTokenRespDto]:
    """Get the cached WeChat access token

     Returns the WeChat Mini Program / Official Account access token that the server caches.
    Successor of the deprecated `POST /api/v3/get-wechat-access-token`.

    Args:
        x_authing_app_id (str | Unset):
        x_genauth_app_id (str | Unset):
        x_authing_lang (Lang | Unset): Language of the response's `message`.
        x_genauth_lang (Lang | Unset): Language of the response's `message`.
        body (GetWechatAccessTokenDto):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorRespDto | GetWechatAccessTokenRespDto]
    """

    kwargs = _get_kwargs(
        body=body,
        x_authing_app_id=x_authing_app_id,
        x_genauth_app_id=x_genauth_app_id,
        x_authing_lang=x_authing_lang,
        x_genauth_lang=x_genauth_lang,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: GetWechatAccessTokenDto,
    x_authing_app_id: str | Unset = UNSET,
    x_genauth_app_id: str | Unset = UNSET,
    x_authing_lang: Lang | Unset = UNSET,
    x_genauth_lang: Lang | Unset = UNSET,
) -> ErrorRespDto | GetWechatAccessTokenRespDto | None:
    """Get the cached WeChat access token

     Returns the WeChat Mini Program / Official Account access token that the server caches.
    Successor of the deprecated `POST /api/v3/get-wechat-access-token`.

    Args:
        x_authing_app_id (str | Unset):
        x_genauth_app_id (str | Unset):
        x_authing_lang (Lang | Unset): Language of the response's `message`.
        x_genauth_lang (Lang | Unset): Language of the response's `message`.
        body (GetWechatAccessTokenDto):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorRespDto | GetWechatAccessTokenRespDto
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_authing_app_id=x_authing_app_id,
            x_genauth_app_id=x_genauth_app_id,
            x_authing_lang=x_authing_lang,
            x_genauth_lang=x_genauth_lang,
        )
    ).parsed
