/**
 * REFRAG's fine-tuning hooks: reconstruction with a curriculum, next-paragraph continual pre-training and
 * reinforcement learning of the expansion policy, on DJL autograd with AdamW, a warm-up + cosine schedule, gradient
 * clipping, seeded data order and resumable safetensors checkpoints. Entry point: {@link io.refrag.core.train.Trainers}.
 */
package io.refrag.core.train;
