/**
 * DJL helpers shared by the implementation modules: device resolution and tensor operations that are safe under
 * autograd. Internal to refrag-java; applications never see NDArrays.
 */
package io.refrag.core.tensor;
