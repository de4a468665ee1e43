// Megatron-Core's pipeline layout strings read into layers per model chunk, and what they cannot
// say refused with the character or count that breaks the rule.
#include "sim/strategy/pipeline_layout.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(PipelineLayout, DeepSeekV3RecipeUnrollsIntoChunks) {
  // Megatron-Bridge's DeepSeek-V3 on 8 x 4 chunks: the embedding and a layer, thirty chunks of
  // two, the MTP layer with the loss.
  const PipelineLayout r = parse_pipeline_layout("Et|(tt|)*30mL", 32, 61, 1);
  ASSERT_EQ(r.problem, "");
  std::vector<std::int64_t> expected(32, 2);
  expected.front() = 1;
  expected.back() = 0;
  EXPECT_EQ(r.layers_per_chunk, expected);
  // Commas are cosmetic and x*n repeats a character, as Megatron-Core reads them.
  EXPECT_EQ(parse_pipeline_layout("Et*3|(tt|)*29,t*2L", 31, 63, 0).layers_per_chunk.front(), 3);
  EXPECT_EQ(parse_pipeline_layout("E|t*4|t*4|L", 4, 8, 0).layers_per_chunk,
            (std::vector<std::int64_t>{0, 4, 4, 0}));
  // A group's own x*n repeats are written out too, as Megatron-Core's second pass does.
  EXPECT_EQ(parse_pipeline_layout("E|(t*2|)*2,tL", 4, 5, 0).layers_per_chunk,
            (std::vector<std::int64_t>{0, 2, 2, 1}));
}

TEST(PipelineLayout, RefusesWhatTheModelOrPipelineCannotHold) {
  const auto problem = [](std::string_view text, std::int64_t chunks, std::int64_t layers,
                          std::int64_t mtp) {
    return parse_pipeline_layout(text, chunks, layers, mtp).problem;
  };
  EXPECT_EQ(problem("Et|tt|tL", 4, 4, 0),
            "3 chunks, and pp·virtual_stages is 4; give one chunk a model chunk, chunk c on stage "
            "c mod pp");
  EXPECT_EQ(problem("tE|tL", 2, 2, 0), "the embedding (E) comes once, first in the first chunk");
  EXPECT_EQ(problem("Et|Lt", 2, 2, 0), "the loss (L) comes once, last in the last chunk");
  EXPECT_EQ(problem("Et|tL", 2, 3, 0), "2 layers (t), and the model has 3");
  EXPECT_EQ(problem("Et|tmL", 2, 2, 0), "1 prediction layers (m), and model.mtp_layers is 0");
  EXPECT_EQ(problem("Et|t|mL", 3, 2, 1), "");
  EXPECT_EQ(problem("Et|tm|L", 3, 2, 1),
            "the prediction layers (m) run with the loss in the last chunk, after its layers "
            "(Megatron-Core's standalone MTP chunk is not modelled)");
  EXPECT_EQ(problem("Et|mtL", 2, 2, 1),
            "the prediction layers (m) run with the loss in the last chunk, after its layers "
            "(Megatron-Core's standalone MTP chunk is not modelled)");
  EXPECT_EQ(problem("Et|x L", 2, 1, 0),
            "character 4 ('x') is none of E (embedding), t (layer), m (prediction layer), L "
            "(loss), | (next chunk), (...)*n and x*n (repeats)");
  EXPECT_EQ(problem("E(t|", 2, 1, 0), "the group opened at character 2 is not closed");
  EXPECT_EQ(problem("E((t|)*2)*2L", 3, 2, 0),
            "character 3: groups do not nest (Megatron-Core unrolls one level)");
  EXPECT_EQ(problem("E(t|)L", 2, 1, 0),
            "character 2: a group is a repeat, (...)*n; write its layers without the brackets");
  EXPECT_EQ(problem("E*|tL", 2, 1, 0), "character 3: '*' needs a count from 0 to 1000000");
  EXPECT_EQ(problem("E2t|tL", 2, 2, 0),
            "character 2: '2' repeats nothing; a count follows '*' after a layer or a group");
  EXPECT_EQ(problem("E|(t2)*2L", 2, 2, 0),
            "character 5: '2' repeats nothing; a count follows '*' after a layer or a group");
  EXPECT_EQ(problem("E|t)L", 2, 1, 0), "character 4: ')' closes no group");
  EXPECT_EQ(problem("E|()*2L", 2, 0, 0), "character 3: an empty group");
  EXPECT_EQ(problem("E|t*99999999999L", 2, 1, 0),
            "character 5: '*' needs a count from 0 to 1000000");
  EXPECT_EQ(problem("E|(t|)*999999L", 2, 1, 0),
            "it unrolls to more than 1000000 layers and separators");
  EXPECT_EQ(problem("", 1, 1, 0), "the embedding (E) comes once, first in the first chunk");
}

}  // namespace
}  // namespace scaleplan
