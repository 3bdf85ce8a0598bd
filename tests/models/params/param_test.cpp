#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/params/broker.h"
#include "models/params/closest_name.h"
#include "models/params/param.h"

namespace vbsim::params {
namespace {

using sc_core::SC_NS;
using sc_core::sc_time;
using sc_core::SC_US;

PresetOrigin at(int line, int column, std::string key_path) {
    return PresetOrigin{"t.yaml", line, column, std::move(key_path)};
}

TEST(Param, KeepsItsDefaultWithoutAPreset) {
    ParamBroker broker;
    Param<sc_time> hop("vm0.bus.hop_latency", sc_time(5, SC_NS), ParamUnit::kTime,
                       "bus latency each way", broker);
    EXPECT_EQ(hop.get_value(), sc_time(5, SC_NS));
    EXPECT_FALSE(hop.is_preset_value());
    EXPECT_EQ(hop.get_default_value_text(), "5ns");
    EXPECT_EQ(hop.get_value_text(), "5ns");
    EXPECT_EQ(std::string(unit_name(hop.unit())), "time");
    EXPECT_TRUE(broker.check().empty());
}

TEST(Param, TakesItsPresetWithUnits) {
    ParamBroker broker;
    broker.set_preset_value("vm0.balloon.inflate.transport_cost", "1ms");
    broker.set_preset_value("vm0.ram.bandwidth", "8GB/s");
    broker.set_preset_value("vm0.balloon.mmio_base", "0x10002000");
    broker.set_preset_value("vm0.driver.features", "[stats_vq, deflate_on_oom]");
    broker.set_preset_value("vm0.ram.dmi", "no");
    Param<sc_time> cost("vm0.balloon.inflate.transport_cost", sc_time(385, SC_US), ParamUnit::kTime,
                        "per buffer", broker);
    Param<double> bandwidth("vm0.ram.bandwidth", 16.0, ParamUnit::kBandwidth, "burst rate", broker);
    Param<uint64_t> base("vm0.balloon.mmio_base", 0x10001000, ParamUnit::kAddress, "window",
                         broker);
    Param<std::vector<std::string>> features("vm0.driver.features", {"must_tell_host"},
                                             ParamUnit::kNames, "features", broker);
    Param<bool> dmi("vm0.ram.dmi", true, ParamUnit::kBool, "DMI", broker);
    EXPECT_EQ(cost.get_value(), sc_time(1, sc_core::SC_MS));
    EXPECT_TRUE(cost.is_preset_value());
    EXPECT_EQ(cost.get_default_value_text(), "385us");
    EXPECT_EQ(cost.get_value_text(), "1ms");
    EXPECT_EQ(bandwidth.get_value(), 8.0);
    EXPECT_EQ(bandwidth.get_default_value_text(), "16GB/s");
    EXPECT_EQ(base.get_value(), 0x10002000u);
    EXPECT_EQ(features.get_value(), (std::vector<std::string>{"stats_vq", "deflate_on_oom"}));
    EXPECT_EQ(features.get_value_text(), "[stats_vq, deflate_on_oom]");
    EXPECT_FALSE(dmi.get_value());
    EXPECT_TRUE(broker.check().empty());
    EXPECT_TRUE(broker.get_unconsumed_preset_values().empty());
}

TEST(Param, ABadValueKeepsTheDefaultAndIsReportedWhereItCameFrom) {
    ParamBroker broker;
    broker.set_preset_value("vm0.bus.hop_latency", "5 parsecs",
                            at(3, 18, "platform.bus.hop_latency"));
    Param<sc_time> hop("vm0.bus.hop_latency", sc_time(5, SC_NS), ParamUnit::kTime, "hop", broker);
    EXPECT_EQ(hop.get_value(), sc_time(5, SC_NS));
    EXPECT_FALSE(hop.is_preset_value());
    const std::vector<ParamError> errors = broker.check();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].param_name, "vm0.bus.hop_latency");
    EXPECT_EQ(errors[0].to_string(),
              "t.yaml:3:18: platform.bus.hop_latency: expected a time such as 250ns, 3ms or "
              "1.5s, got '5 parsecs' (unknown unit 'parsecs')");
}

TEST(Param, RangeAndRuleRefuseValuesOutside) {
    ParamBroker broker;
    const ParamRange<uint32_t> queue{1, 32768, "a power of 2", [](const uint32_t& value) {
                                         return (value & (value - 1)) == 0
                                                    ? std::string()
                                                    : "must be a power of 2, got '" +
                                                          std::to_string(value) + "'";
                                     }};
    broker.set_preset_value("a.too_big", "65536");
    broker.set_preset_value("a.not_power", "100");
    broker.set_preset_value("a.ok", "64");
    broker.set_preset_value("a.positive", "0");
    Param<uint32_t> too_big("a.too_big", 128, ParamUnit::kCount, "q", broker, queue);
    Param<uint32_t> not_power("a.not_power", 128, ParamUnit::kCount, "q", broker, queue);
    Param<uint32_t> ok("a.ok", 128, ParamUnit::kCount, "q", broker, queue);
    Param<sc_time> positive("a.positive", sc_time(1, SC_US), ParamUnit::kTime, "t", broker,
                            {sc_time(1, sc_core::SC_PS), std::nullopt, "", nullptr});
    EXPECT_EQ(too_big.get_value(), 128u);
    EXPECT_EQ(not_power.get_value(), 128u);
    EXPECT_EQ(ok.get_value(), 64u);
    EXPECT_EQ(positive.get_value(), sc_time(1, SC_US));
    EXPECT_EQ(ok.get_range_text(), "1..32768, a power of 2");
    const std::vector<ParamError> errors = broker.check();
    ASSERT_EQ(errors.size(), 3u);
    EXPECT_EQ(errors[0].to_string(), "a.too_big: must be between 1 and 32768, got '65536'");
    EXPECT_EQ(errors[1].to_string(), "a.not_power: must be a power of 2, got '100'");
    EXPECT_EQ(errors[2].to_string(), "a.positive: must be at least 1ps, got '0'");
}

TEST(ParamBroker, APresetNoParameterTookNamesTheClosestParameter) {
    ParamBroker broker;
    broker.set_preset_value("vm0.balloon.inflate.transport_cots", "1ms",
                            PresetOrigin{"--set vm0.balloon.inflate.transport_cots", 0, 0, ""});
    Param<sc_time> cost("vm0.balloon.inflate.transport_cost", sc_time(385, SC_US), ParamUnit::kTime,
                        "per buffer", broker);
    Param<sc_time> deflate("vm0.balloon.deflate.transport_cost", sc_time(78, SC_US),
                           ParamUnit::kTime, "per buffer", broker);
    EXPECT_EQ(broker.get_unconsumed_preset_values(),
              std::vector<std::string>{"vm0.balloon.inflate.transport_cots"});
    const std::vector<ParamError> errors = broker.check();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].to_string(),
              "--set vm0.balloon.inflate.transport_cots: "
              "no parameter named 'vm0.balloon.inflate.transport_cots' (did you mean "
              "'vm0.balloon.inflate.transport_cost'?)");
    EXPECT_EQ(cost.get_value(), sc_time(385, SC_US));
}

TEST(ParamBroker, ListsHandlesInConstructionOrderAndForgetsDestroyedOnes) {
    ParamBroker broker;
    Param<uint64_t> first("x.first", 1, ParamUnit::kCount, "1", broker);
    {
        Param<uint64_t> second("x.second", 2, ParamUnit::kCount, "2", broker);
        ASSERT_EQ(broker.get_param_handles().size(), 2u);
        EXPECT_EQ(broker.get_param_handles()[1]->name(), "x.second");
        EXPECT_EQ(broker.get_param_handle("x.second"), &second);
    }
    ASSERT_EQ(broker.get_param_handles().size(), 1u);
    EXPECT_EQ(broker.get_param_handle("x.second"), nullptr);
    EXPECT_EQ(broker.get_param_handle("x.first"), &first);
}

TEST(ParamBroker, ADuplicateNameIsAnError) {
    ParamBroker broker;
    Param<uint64_t> first("x.same", 1, ParamUnit::kCount, "1", broker);
    Param<uint64_t> second("x.same", 2, ParamUnit::kCount, "2", broker);
    const std::vector<ParamError> errors = broker.check();
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].to_string(), "x.same: declared twice");
}

TEST(ClosestName, SuggestsWithinTwoEditsOnly) {
    const std::vector<std::string> names = {"ram", "ram_base", "page_size"};
    EXPECT_EQ(did_you_mean("rma", names), " (did you mean 'ram'?)");
    EXPECT_EQ(did_you_mean("memory", names), "");
    EXPECT_EQ(*closest_name("pagesize", names), "page_size");
    EXPECT_EQ(closest_name("x", {}), nullptr);
}

}  // namespace
}  // namespace vbsim::params
