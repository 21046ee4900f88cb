"""Learned generative models: pixels in, probabilities or bijections out; nothing about bits."""
