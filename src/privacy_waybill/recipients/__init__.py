"""Recipients: phone-OTP sign-in, own parcels through the blind index, who saw my data,
privacy preferences, leak reports, and the identity code (身份码) shown at a station."""
