"""Sign-in: staff users with argon2id passwords and TOTP, device-bound courier sessions, and
day passes for crowd-sourced couriers redeemed by phone OTP. Every rule takes the clock as an
argument; storage sits behind `IdentityStorePort`."""
