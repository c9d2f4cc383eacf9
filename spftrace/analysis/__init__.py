"""Analyses over the dataset; they return data (dataclasses), never text."""
