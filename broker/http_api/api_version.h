#pragma once
// The version of the HTTPS API: in the API-Version header of every answer and in the OpenAPI
// document's info.version (docs/http-api.md). Major 1 is the /v1 path.
namespace broker::http_api {
inline constexpr const char* kApiVersion = "1.1.0";
}
