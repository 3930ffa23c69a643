/** The smallest SAM-shaped config the training tests run (64 px input, 2 blocks, 32 channels). */
export function tinyTrainConfig(variant: string) {
  return {
    variant,
    img_size: 64,
    patch_size: 16,
    embed_dim: 32,
    depth: 2,
    heads: 2,
    window: 2,
    global_attn_indexes: [1],
    prompt_dim: 32,
    decoder_heads: 2,
    decoder_mlp_dim: 64,
    iou_head_hidden_dim: 32,
  };
}
