/**
 * Data-parallel training on Apache Spark. The driver (the process running {@code ffwd train}) keeps the trainable
 * tensors, the optimizer, Fast Forward and evaluation; each step it broadcasts the tensors, every partition computes
 * the gradient of its share of the step's micro-batches on an executor ({@link dev.ffwd.spark.ExecutorSide}), and
 * {@code treeAggregate} sums them back to the driver, as Spark MLlib's gradient descent does. Spark is a
 * {@code provided} dependency: nothing here is loaded unless a Spark master is asked for.
 */
package dev.ffwd.spark;
