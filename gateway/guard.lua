-- Mnemo API surface guard: the first filter of the REST gateway. It refuses, before anything
-- is transcoded or reaches the server, what a web page or a rebinding DNS name could send:
--
-- 1. Host: the request's Host (port ignored) must be one of ALLOWED_HOSTS (localhost, 127.0.0.1,
--    [::1], the bind address and MNEMO_ALLOWED_HOSTS) unless ANY_HOST is set. Stops DNS
--    rebinding: a page on evil.example whose name now points at 127.0.0.1 sends Host: evil.example.
-- 2. Origin: a request carrying an Origin header (browsers send one on every cross-origin request
--    and every POST) is refused unless the origin is in CORS_ORIGINS (MNEMO_CORS_ORIGINS) or is
--    the server's own origin. CORS preflights from configured origins are answered by Envoy's CORS
--    filter, which runs after this one. Non-browser clients send no Origin and are not affected.
-- 3. Content-Type: a request with a body must be JSON (application/json or application/*+json);
--    text/plain, form and multipart bodies (what an HTML form or a "simple" cross-origin fetch can
--    send without a preflight) get 415. A route that takes another media type (a future upload
--    route taking multipart/form-data) is listed in gateway.py's ROUTE_RULES with its types.
--    A body with no Content-Type is passed on: the transcoder parses it as JSON or answers 400.
-- 4. Body size: a Content-Length above the route's cap gets 413 naming the setting. Bodies
--    without a length (chunked) are capped by Envoy's buffer filter with the same numbers; its
--    413 is rewritten by envoy_on_response below to name the limit.
--
-- Filled in at start-up by server/mnemo_server/gateway.py, before this source:
--   ALLOWED_HOSTS = {["localhost"] = true, ...}   ANY_HOST = false
--   CORS_ORIGINS = {["https://app.example.com"] = true, ...}
--   DEFAULT_BODY = {max = <bytes>, setting = "MNEMO_MAX_BODY_BYTES", types = {}}
--   BODY_RULES = {{method = "POST", pattern = "^/v1/...$", max = <bytes>, setting = "...",
--                  types = {["multipart/form-data"] = true}}, ...}

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

local function refuse(handle, status, detail)
  handle:respond({[":status"] = tostring(status), ["content-type"] = "application/json"},
    '{"detail":' .. json_string(detail) .. "}")
end

-- "Example.COM:8283" -> "example.com"; "[::1]:8283" -> "[::1]".
local function host_name(authority)
  local lower = authority:lower()
  if lower:sub(1, 1) == "[" then return lower:match("^(%[[^%]]*%])") end
  return (lower:gsub(":%d*$", ""))
end

local function body_rule(method, path)
  local bare = path:gsub("%?.*$", "")
  for _, rule in ipairs(BODY_RULES) do
    if (rule.method == nil or rule.method == method) and bare:find(rule.pattern) then return rule end
  end
  return DEFAULT_BODY
end

-- "application/json; charset=utf-8" -> "application/json"
local function media_type(content_type)
  return (content_type:match("^%s*([^;%s]+)") or ""):lower()
end

local function is_json(media)
  return media == "application/json" or (media:sub(1, 12) == "application/" and media:sub(-5) == "+json")
end

local NO_BODY = {GET = true, HEAD = true, OPTIONS = true}

function envoy_on_request(handle)
  local headers = handle:headers()
  local authority = headers:get(":authority")
  if not ANY_HOST then
    local host = authority and host_name(authority)
    if host == nil or not ALLOWED_HOSTS[host] then
      refuse(handle, 403, "host " .. (authority or "(none)") .. " is not served here: "
        .. "add it to MNEMO_ALLOWED_HOSTS to allow it")
      return
    end
  end

  local origin = headers:get("origin")
  if origin ~= nil then
    local lower = origin:lower()
    local own = authority and (lower == "http://" .. authority:lower() or lower == "https://" .. authority:lower())
    if not (CORS_ORIGINS[lower] or own) then
      refuse(handle, 403, "cross-origin request from " .. origin .. " refused: add the origin to "
        .. "MNEMO_CORS_ORIGINS to allow it")
      return
    end
  end

  local method = headers:get(":method")
  if NO_BODY[method] then return end
  local rule = body_rule(method, headers:get(":path") or "")
  local content_type = headers:get("content-type")
  if content_type ~= nil then
    local media = media_type(content_type)
    if not (is_json(media) or rule.types[media]) then
      refuse(handle, 415, "unsupported Content-Type " .. content_type
        .. ": send the body as application/json")
      return
    end
  end
  local length = tonumber(headers:get("content-length") or "")
  if length ~= nil and length > rule.max then
    refuse(handle, 413, "request body of " .. string.format("%d", length) .. " bytes is larger than "
      .. string.format("%d", rule.max) .. " bytes (" .. rule.setting .. ")")
    return
  end
  handle:streamInfo():dynamicMetadata():set("mnemo.guard", "body_setting", rule.setting)
  handle:streamInfo():dynamicMetadata():set("mnemo.guard", "body_max", rule.max)
end

function envoy_on_response(handle)
  local headers = handle:headers()
  if headers:get(":status") ~= "413" then return end
  local buffer = handle:body()
  if buffer == nil then return end
  -- Envoy's own 413 (the buffer filter's, possibly already made JSON by rest_shape.lua) says only
  -- "Payload Too Large": name the limit and its setting instead.
  if not buffer:getBytes(0, buffer:length()):find("Payload Too Large", 1, true) then return end
  local meta = handle:streamInfo():dynamicMetadata():get("mnemo.guard") or {}
  local text = '{"detail":' .. json_string("request body larger than "
    .. string.format("%d", meta["body_max"] or DEFAULT_BODY.max) .. " bytes ("
    .. (meta["body_setting"] or DEFAULT_BODY.setting) .. ")") .. "}"
  buffer:setBytes(text)
  handle:headers():replace("content-length", tostring(#text))
  handle:headers():replace("content-type", "application/json")
end
