/**
 * REFRAG's fine-tuning hooks: reconstruction with a curriculum, next-paragraph continual pre-training and
 * reinforcement learning of the expansion policy, on DJL autograd with AdamW, a warm-up + cosine schedule, gradient
 * clipping, seeded data order and resumable safetensors checkpoints. Each task is a
 * {@link io.refrag.train.TrainingTask} (reconstruction, CPT, policy) over its own config and the common
 * {@link io.refrag.train.TrainingConfig}; {@link io.refrag.train.Part} names what trains.
 */
package io.refrag.train;
