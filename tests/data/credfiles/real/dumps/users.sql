-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
-- ------------------------------------------------------

DROP TABLE IF EXISTS `users`;
CREATE TABLE `users` (
  `id` int NOT NULL AUTO_INCREMENT,
  `email` varchar(255) NOT NULL,
  `password` varchar(255) DEFAULT NULL,
  `password_changed_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `users` WRITE;
INSERT INTO `users` VALUES (1,'mira@acme-corp.io','Summer2024!','2024-06-11 09:12:44'),(2,'ops@acme-corp.io','$2y$10$Lh8GxJf0qW2c9vZ3kN7mT1pR4sY6uB5dE8aQ0wX2zC4vN6bM8kJ1h','2024-06-12 10:01:02'),(3,'old@acme-corp.io',NULL,NULL);
UNLOCK TABLES;
