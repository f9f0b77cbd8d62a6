-- Mnemo REST shaping, run by Envoy on the JSON the gRPC-JSON transcoder prints.
--
-- 1. List and count RPCs declare `response_body` in their google.api.http rule
--    (e.g. "agents"). Envoy cannot honour that for non-HttpBody fields, so the
--    gateway clears it from the descriptor and this filter does the unwrapping:
--    {"agents":[...]} becomes [...], {"count":3} becomes 3. RESPONSE_FIELD is
--    filled in at startup from the descriptor: gRPC path -> field name.
-- 2. Error bodies: the transcoder prints google.rpc.Status
--    {"code":5,"message":"...","details":[]}; Letta clients read "detail", so
--    it is added in front. Envoy's own plain-text errors become JSON as well.
--    A 429 (RESOURCE_EXHAUSTED: a concurrency limit) gets `Retry-After: 1`.
-- 3. Server-sent events: the transcoder writes every streamed message as
--    `data: {...}`. Letta clients expect errors as `event: error` and the end
--    of the stream as `data: [DONE]`; both are added here, chunk by chunk,
--    without buffering the stream.
-- 4. POST /v1/agents/{id}/messages with "streaming": true in the body is sent
--    to the streaming RPC (/messages/stream), as Letta's API does; so is a
--    chat completion (/v1/chat/completions, /v1/voice-beta/{id}/chat/completions)
--    with "stream": true, as OpenAI's API does. A streamed chat completion ends
--    with `data: [DONE]` after its last chunk: the finish chunk, or the usage
--    chunk when the request asked for it, or an error chunk.

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

-- Returns the JSON string literal that follows "message": in a Status body.
local function status_message_literal(body)
  local start = body:find('"message":"', 1, true)
  if start == nil then return nil end
  local i = start + 10 -- the opening quote
  local j = i + 1
  while j <= #body do
    local c = body:sub(j, j)
    if c == "\\" then
      j = j + 2
    elseif c == '"' then
      return body:sub(i, j)
    else
      j = j + 1
    end
  end
  return nil
end

local function replace_body(handle, buffer, text, content_type)
  buffer:setBytes(text)
  local headers = handle:headers()
  headers:replace("content-length", tostring(#text))
  if content_type ~= nil then headers:replace("content-type", content_type) end
end

-- Paths with a streaming twin at path .. "/stream": pattern, body flag.
local STREAMING_TWINS = {
  {"^(/v1/agents/[^/?]+/messages)/?(%??[^/]*)$", '"streaming"%s*:%s*true'},
  {"^(/v1/chat/completions)/?(%??[^/]*)$", '"stream"%s*:%s*true'},
  {"^(/v1/voice%-beta/[^/?]+/chat/completions)/?(%??[^/]*)$", '"stream"%s*:%s*true'},
}

function envoy_on_request(handle)
  local headers = handle:headers()
  if headers:get(":method") ~= "POST" then return end
  local path = headers:get(":path") or ""
  local base, rest, flag
  for _, twin in ipairs(STREAMING_TWINS) do
    base, rest = path:match(twin[1])
    if base ~= nil then
      flag = twin[2]
      break
    end
  end
  if base == nil then return end
  local buffer = handle:body()
  if buffer == nil then return end
  local body = buffer:getBytes(0, buffer:length())
  if body:find(flag) then
    -- body() yielded: header handles taken before it are no longer valid.
    handle:headers():replace(":path", base .. "/stream" .. rest)
    if base:find("/chat/completions", 1, true) then
      local last = '"finish_reason":"'
      if body:find('"include_usage"%s*:%s*true') then last = '"usage":{' end
      handle:streamInfo():dynamicMetadata():set("mnemo.chat", "last_chunk", last)
    end
  end
end

local ERROR_EVENT = '"message_type":"error_message"'
local LAST_EVENT = '"message_type":"usage_statistics"'

local CHAT_ERROR = '"error":{'

-- A streamed chat completion: `data: [DONE]` after its last chunk.
local function shape_chat_stream(handle, last_chunk)
  for chunk in handle:bodyChunks() do
    local text = chunk:getBytes(0, chunk:length())
    if text:find(last_chunk, 1, true) or text:find(CHAT_ERROR, 1, true) then
      chunk:setBytes(text .. "data: [DONE]\n\n")
    end
  end
end

local function shape_event_stream(handle)
  local chat = handle:streamInfo():dynamicMetadata():get("mnemo.chat")
  if chat ~= nil and chat["last_chunk"] ~= nil then
    shape_chat_stream(handle, chat["last_chunk"])
    return
  end
  for chunk in handle:bodyChunks() do
    local text = chunk:getBytes(0, chunk:length())
    local changed = false
    if text:find(ERROR_EVENT, 1, true) then
      text = text:gsub("data: ({[^\n]-" .. ERROR_EVENT:gsub("%p", "%%%0") .. "[^\n]*})", "event: error\ndata: %1")
      changed = true
    end
    if text:find(LAST_EVENT, 1, true) then
      text = text .. "data: [DONE]\n\n"
      changed = true
    end
    if changed then chunk:setBytes(text) end
  end
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local content_type = headers:get("content-type") or ""
  if content_type:find("text/event-stream", 1, true) then
    shape_event_stream(handle)
    return
  end
  local status = tonumber(headers:get(":status")) or 0

  if status < 300 then
    local meta = handle:streamInfo():dynamicMetadata():get("mnemo")
    local field = meta and RESPONSE_FIELD[meta["method"]]
    if field == nil then return end
    local buffer = handle:body()
    if buffer == nil then return end
    local body = buffer:getBytes(0, buffer:length())
    local prefix = '{"' .. field .. '":'
    if body:sub(1, #prefix) == prefix and body:sub(-1) == "}" then
      replace_body(handle, buffer, body:sub(#prefix + 1, -2), nil)
    end
    return
  end

  if status >= 400 then
    if status == 429 then
      -- A limit was hit (RESOURCE_EXHAUSTED): MNEMO_MAX_CONCURRENT_RPCS or _STREAMS.
      headers:replace("retry-after", "1")
    end
    local buffer = handle:body()
    local body = ""
    if buffer ~= nil then body = buffer:getBytes(0, buffer:length()) end
    local text
    if content_type:find("json", 1, true) and body:sub(1, 1) == "{" then
      local literal = status_message_literal(body)
      if literal == nil then return end
      text = '{"detail":' .. literal .. "," .. body:sub(2)
    else
      local detail = body:gsub("%s+$", "")
      if detail == "" then detail = "HTTP " .. tostring(status) end
      text = '{"detail":' .. json_string(detail) .. "}"
    end
    if buffer ~= nil then
      replace_body(handle, buffer, text, "application/json")
    else
      handle:respond({[":status"] = tostring(status), ["content-type"] = "application/json"}, text)
    end
  end
end
