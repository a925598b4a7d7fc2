// What an Organization's and a RepoBinding's tenant-facing fields decide, checked without a
// cluster: reserved names, the Pod Security level, and where pipelineSpec is (and is not) parsed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "aphex/api/condition.h"
#include "aphex/api/organization.h"
#include "aphex/api/repo_binding.h"
#include "aphex/api/validation.h"
#include "aphex/config.h"

namespace aphex::api {
namespace {

using ::testing::HasSubstr;
using Json = kube::Json;

Json organization(const std::string& name) {
  return {{"apiVersion", "aphex.io/v1alpha1"},
          {"kind", "Organization"},
          {"metadata", {{"name", name}, {"namespace", "platform-system"}}},
          {"spec", {{"displayName", "A team"}}}};
}

TEST(TenantFields, PlatformHostNamesAreNotOrganizationNames) {
  for (const std::string_view reserved : kReservedOrganizationNames) {
    auto parsed = Organization::fromJson(organization(std::string(reserved)));
    ASSERT_TRUE(parsed.ok());
    EXPECT_THAT(describe(validate(*parsed)), HasSubstr("reserved for a platform host")) << reserved;
  }
  auto fine = Organization::fromJson(organization("acme"));
  ASSERT_TRUE(fine.ok());
  EXPECT_TRUE(validate(*fine).empty());
}

TEST(TenantFields, PipelinePodSecurityIsRestrictedUnlessTheOrganizationChoosesBaseline) {
  auto unset = Organization::fromJson(organization("acme"));
  ASSERT_TRUE(unset.ok());
  EXPECT_FALSE(unset->spec.pipeline_pod_security.has_value());
  Json object = organization("acme");
  object["spec"]["pipelinePodSecurity"] = "baseline";
  auto baseline = Organization::fromJson(object);
  ASSERT_TRUE(baseline.ok());
  EXPECT_EQ(baseline->spec.pipeline_pod_security, PodSecurityLevel::kBaseline);
  object["spec"]["pipelinePodSecurity"] = "privileged";
  auto refused = Organization::fromJson(object);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.error().message, HasSubstr("spec.pipelinePodSecurity"));
  EXPECT_EQ(toString(PodSecurityLevel::kRestricted), "restricted");
}

RepoBinding binding(std::string pipeline_spec, std::string branch) {
  RepoBinding b;
  b.metadata.name = "app1";
  b.metadata.ns = "platform-system";
  b.spec.aphex_org = "acme";
  b.spec.repo_org = "acme";
  b.spec.repo_name = "app1";
  b.spec.pipeline_name = "app1";
  b.spec.pipeline_spec = std::move(pipeline_spec);
  b.spec.branch = std::move(branch);
  return b;
}

TEST(TenantFields, ValidationWithoutPipelineSpecLeavesItToItsOwnStep) {
  const RepoBinding b = binding("{", "bad..branch");
  const auto everything = validate(b);
  ASSERT_EQ(everything.size(), 2u) << describe(everything);
  EXPECT_EQ(everything[0].path, "spec.pipelineSpec") << "in field order";
  EXPECT_EQ(everything[1].path, "spec.branch");
  const auto rest = validateExceptPipelineSpec(b);
  ASSERT_EQ(rest.size(), 1u) << describe(rest);
  EXPECT_EQ(rest[0].path, "spec.branch");
}

TEST(TenantFields, CountQuotasAreConfigurable) {
  TenantLimits limits;
  EXPECT_EQ(limits.config_maps, 100);
  EXPECT_EQ(limits.secrets, 100);
  ASSERT_TRUE(setTenantLimit(limits, "quota.configmaps=20").ok());
  ASSERT_TRUE(setTenantLimit(limits, "quota.secrets=30").ok());
  EXPECT_EQ(limits.config_maps, 20);
  EXPECT_EQ(limits.secrets, 30);
}

TEST(TenantFields, AConditionMessageQuotingTenantTextStaysWithinWhatTheApiServerTakes) {
  std::vector<Condition> conditions;
  const std::string huge = "pipelineSpec: " + std::string(300000, 'x');
  setCondition(conditions, {.type = "PipelineReady", .status = ConditionStatus::kFalse, .reason = "Invalid",
                            .message = huge, .last_transition_time = {}, .observed_generation = 1},
               std::chrono::system_clock::now());
  ASSERT_EQ(conditions.size(), 1u);
  EXPECT_EQ(conditions[0].message.size(), kMaxConditionMessageBytes);
  EXPECT_TRUE(conditions[0].message.ends_with("..."));
  // A cut never splits a multi-byte character.
  const std::string accents = std::string(kMaxConditionMessageBytes - 4, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9";
  const std::string cut = boundedMessage(accents);
  EXPECT_EQ(cut, std::string(kMaxConditionMessageBytes - 4, 'a') + "...");
  EXPECT_EQ(boundedMessage("short"), "short");
}

}  // namespace
}  // namespace aphex::api
