<?php
/**
 * The base configuration for WordPress
 */

// ** Database settings - You can get this info from your web host ** //
/** The name of the database for WordPress */
define( 'DB_NAME', 'shop_wp' );

/** Database username */
define( 'DB_USER', 'shop_wp' );

/** Database password */
define( 'DB_PASSWORD', 'wpAdmin2024' );

/** Database hostname */
define( 'DB_HOST', 'localhost' );

/**#@+
 * Authentication unique keys and salts.
 */
define( 'AUTH_KEY',         'Q4|Fm<7@e-xP~Rk}2bV9 Lz+8wJ!hN3%aY6,cD0]uG5^tS1' );
define( 'SECURE_AUTH_KEY',  'bT8~wq2!Zr+M5v@Lk9#Xp3$Nd6^Jc1&Hy4*Gf7(Ue0)Sa' );
define( 'LOGGED_IN_KEY',    'Pz3@Wn8!Kq5#Vr2$Lm7%Xt9^Bc4&Hj6*Gd1(Fs0)Ya+Ue' );
define( 'NONCE_KEY',        'Mk6!Rt2@Wz9#Lp4$Qv7%Nx1^Hc8&Jb3*Fd5(Gs0)Ye+Ua' );
define( 'AUTH_SALT',        'Xr5@Kt8!Mq2#Wz7$Lv4%Pn9^Bc1&Hd6*Jg3(Fs0)Ya+Ue' );
define( 'SECURE_AUTH_SALT', 'Nw4!Zq7@Rk2#Lt9$Mv5%Xp8^Hc3&Jb6*Gd1(Fs0)Ye+Ua' );
define( 'LOGGED_IN_SALT',   'Tv9@Lq3!Wk6#Zr8$Mp2%Nx5^Hc7&Jb4*Gd1(Fs0)Ya+Ue' );
define( 'NONCE_SALT',       'Kz2!Rw5@Mq8#Lt3$Xv6%Pn9^Hc4&Jb7*Gd1(Fs0)Ye+Ua' );

$table_prefix = 'wp_';

define( 'WP_DEBUG', false );

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}

require_once ABSPATH . 'wp-settings.php';
