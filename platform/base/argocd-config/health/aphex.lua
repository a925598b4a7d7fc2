-- Health of an aphex.io object (Organization, RepoBinding, KnowledgeBase) as aphex-controller
-- reports it in its status. Progressing until the controller has seen the current spec, Healthy
-- when Ready, Degraded only when the controller has given up on this spec (phase Failed, or a
-- reason that no retry can change); a Ready=False that the controller is still retrying, such as
-- a dependency not yet there, stays Progressing so that a sync wave keeps waiting for it.
local terminalReasons = {InvalidSpec = true, InvalidPipelineSpec = true, WrongNamespace = true}
local health = {status = "Progressing", message = "waiting for aphex-controller"}

if obj.metadata.deletionTimestamp ~= nil then
  health.message = "being deleted: aphex-controller is cleaning up"
  return health
end
local status = obj.status
if status == nil then
  return health
end
local generation = obj.metadata.generation or 0
if (status.observedGeneration or 0) < generation then
  health.message = "aphex-controller has not yet observed generation " .. generation
  return health
end

local ready = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end
if ready == nil then
  health.message = "aphex-controller has not reported a Ready condition yet"
  return health
end
if ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  health.message = "Ready describes generation " .. ready.observedGeneration .. ", not " .. generation
  return health
end

if ready.reason ~= nil and ready.message ~= nil then
  health.message = ready.reason .. ": " .. ready.message
else
  health.message = ready.message or ready.reason or ""
end
if ready.status == "True" then
  health.status = "Healthy"
elseif ready.status == "False" and (status.phase == "Failed" or terminalReasons[ready.reason or ""]) then
  health.status = "Degraded"
end
return health
