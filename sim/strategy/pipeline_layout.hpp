// Megatron-Core's pipeline layouts (--pipeline-model-parallel-layout,
// megatron/core/transformer/pipeline_parallel_layer_layout.py): a decoder's layers written chunk
// by chunk, "Et|(tt|)*30mL" for DeepSeek-V3 on 8 x 4 chunks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scaleplan {

// What a layout gives: the decoder layers of each model chunk, in model order (chunk c runs on
// stage c mod pp), as parallelism.stage_layers holds them; or, when it cannot stand for the
// model and pipeline, why (`problem`, naming the offending character by its 1-based position
// where there is one).
struct PipelineLayout {
  std::vector<std::int64_t> layers_per_chunk;
  std::string problem;
};

// Reads `layout`: E (the embedding), t (a decoder layer), m (a multi-token prediction layer),
// L (the output head and loss), | between chunks, (group)*n and x*n repeats, commas ignored, as
// Megatron-Core parses it. It must hold `chunks` chunks, E first and L last, once each, `layers`
// t's and `mtp_layers` m's, the m's after every t and in the last chunk (the simulation runs the
// prediction modules with the output head).
PipelineLayout parse_pipeline_layout(std::string_view layout, std::int64_t chunks,
                                     std::int64_t layers, std::int64_t mtp_layers);

}  // namespace scaleplan
