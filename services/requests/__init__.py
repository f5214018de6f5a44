"""Requests service: help requests, offers, community activities, check-in/out, claims and ratings."""
